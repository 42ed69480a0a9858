import CTallyVersion

/// The one version number: `tallyd --version`, `tally --version`, `tally_build_info`, the
/// remote-write User-Agent. It comes from VERSION (through CTallyVersion), like the Debian
/// package's and the Python client's.
public enum TallyVersion {
    public static let current = String(cString: tally_version())
}
