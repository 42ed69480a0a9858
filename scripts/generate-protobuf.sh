#!/usr/bin/env bash
# Regenerates Sources/TallyServer/RemoteWrite/Generated/remote.pb.swift from remote.proto.
# Run by hand when the .proto changes (no build runs the plugin); commit both files.
#
# Needs protoc (Debian: apt-get install protobuf-compiler, 3.21.12 made the committed file) and
# protoc-gen-swift of the swift-protobuf version Package.swift names (1.39.0):
#   git clone --branch 1.39.0 https://github.com/apple/swift-protobuf /tmp/swift-protobuf
#   (cd /tmp/swift-protobuf && swift build -c release --product protoc-gen-swift)
#   PROTOC_GEN_SWIFT=/tmp/swift-protobuf/.build/release/protoc-gen-swift scripts/generate-protobuf.sh
set -euo pipefail
cd "$(dirname "$0")/../Sources/TallyServer/RemoteWrite/Generated"
plugin=${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}
[ -x "$plugin" ] || { echo "protoc-gen-swift not found: set PROTOC_GEN_SWIFT (see the comment in $0)"; exit 1; }
protoc --plugin=protoc-gen-swift="$plugin" --swift_out=. --swift_opt=Visibility=Internal remote.proto
echo "wrote $(pwd)/remote.pb.swift"
