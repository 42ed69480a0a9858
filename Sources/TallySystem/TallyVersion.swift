/// The one version number: `tallyd --version`, `tally --version` and `tally_build_info`.
public enum TallyVersion {
    public static let current = "0.1.0"
}
