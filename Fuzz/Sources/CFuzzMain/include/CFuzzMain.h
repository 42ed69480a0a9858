#pragma once
// SwiftPM links an executable's entry point as <Target>_main; libFuzzer's driver is started
// from there (LLVMFuzzerRunDriver), with the Swift LLVMFuzzerTestOneInput as the callback.
int TallyFuzz_main(int argc, char **argv);
