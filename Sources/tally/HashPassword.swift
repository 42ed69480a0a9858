import ArgumentParser
import TallyServer
import TallySystem

#if canImport(Glibc)
    import Glibc
#endif

/// `tally hash-password`: a bcrypt hash for web_config_file's basic_auth_users.
struct HashPassword: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-password",
        abstract: "Print a bcrypt hash of a password (read from stdin) for basic_auth_users in the web config.",
        usage: "tally hash-password [--cost N] < password.txt",
        discussion: """
            printf '%s' 'secret' | tally hash-password
              $2b$10$...   (put it under basic_auth_users: {prometheus: '$2b$10$...'})
            The first line of stdin is the password (a trailing newline is not part
            of it). htpasswd -nBC 10 USER makes the same kind of hash.
            """)

    @Option(help: "bcrypt cost (4-31): each step doubles the time a check takes.") var cost = 10

    func run() throws {
        guard (4...31).contains(cost) else { throw ValidationError("--cost must be 4...31") }
        var password = readLine(strippingNewline: true) ?? ""
        if password.hasSuffix("\r") { password.removeLast() }
        guard !password.isEmpty else { throw ValidationError("no password on stdin") }
        guard let hash = PasswordHash.make(password, cost: cost) else {
            StandardError.print("tally: libcrypt could not make a bcrypt hash")
            throw ExitCode(1)
        }
        print(hash)
    }
}
