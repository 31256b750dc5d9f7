import Crypto
import Foundation
import Yams

/// The static bearer tokens: AUTH_TOKEN (one shared token, role `admin`, as every install before roles
/// had it) and the entries of AUTH_TOKENS_FILE, for callers outside Kubernetes.
///
/// ```yaml
/// tokens:
///   - name: ops              # how the caller is named in logs, and what its rate limit counts
///     role: admin            # admin, reader or worker
///     sha256: 5e88…          # the token's SHA-256 in hex (printf %s "$TOKEN" | sha256sum), or
///   - name: batch-7          # role worker: acts as the worker named batch-7 only
///     role: worker
///     token: s3cret          # the token itself (the file is then a secret), or
///   - name: dashboard
///     role: reader
///     tokenFile: /run/secrets/rollcall/reader-token   # a file holding it (a Secret's key)
/// ```
///
/// A presented token is looked up by its SHA-256, so the time taken does not depend on how much of a
/// stored token it matches.
struct StaticTokens: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        var name: String
        var role: Role
    }

    /// Entries by the SHA-256 of their token.
    private(set) var entries: [[UInt8]: Entry] = [:]

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// The name AUTH_TOKEN's caller has in logs and metrics.
    static let sharedTokenName = "auth-token"

    init() {}

    /// AUTH_TOKEN's one entry.
    init(sharedToken: String) {
        entries[Self.hash(sharedToken.utf8)] = Entry(name: Self.sharedTokenName, role: .admin)
    }

    /// The caller a presented token stands for, if it is one of these.
    func caller(presenting token: some Collection<UInt8>) -> Caller? {
        guard let entry = entries[Self.hash(token)] else { return nil }
        return Caller(source: .token(name: entry.name), role: entry.role, workerName: entry.role == .worker ? entry.name : nil)
    }

    /// These tokens and `other`'s; an entry of `other` with the same token replaces this one's.
    func merging(_ other: StaticTokens) -> StaticTokens {
        var merged = self
        merged.entries.merge(other.entries) { _, new in new }
        return merged
    }

    struct Problem: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    /// AUTH_TOKENS_FILE's text; every problem names the entry and the field.
    static func parse(_ text: String) throws(Problem) -> StaticTokens {
        let tree: Any?
        do {
            tree = try Yams.load(yaml: text)
        } catch {
            throw Problem(description: "not valid YAML: \(error)")
        }
        guard let root = tree as? [String: Any], let list = root["tokens"] as? [Any], root.count == 1 else {
            throw Problem(description: "the file must be a mapping with one field, `tokens`, a list")
        }
        var tokens = StaticTokens()
        var names: Set<String> = []
        for (index, item) in list.enumerated() {
            guard let fields = item as? [String: Any] else { throw Problem(description: "tokens[\(index)] must be a mapping") }
            let known: Set<String> = ["name", "role", "sha256", "token", "tokenFile"]
            if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
                throw Problem(description: "tokens[\(index)]: unknown field `\(unknown)` (known: name, role, sha256, token, tokenFile)")
            }
            guard let name = fields["name"] as? String, Self.isValidName(name) else {
                throw Problem(description: "tokens[\(index)]: `name` is required: 1 to 253 characters of a-z, 0-9, '-' and '.'")
            }
            guard names.insert(name).inserted else { throw Problem(description: "tokens[\(index)]: the name \(name) is used twice") }
            guard let roleText = fields["role"] as? String, let role = Role(rawValue: roleText) else {
                throw Problem(description: "tokens[\(index)] (\(name)): `role` must be one of admin, reader, worker")
            }
            let digest: [UInt8]
            var given = fields
            if let path = fields["tokenFile"] {
                guard fields["token"] == nil, fields["sha256"] == nil else {
                    throw Problem(description: "tokens[\(index)] (\(name)): give exactly one of `token`, `sha256` and `tokenFile`")
                }
                guard let path = path as? String, let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw Problem(description: "tokens[\(index)] (\(name)): tokenFile \(path) cannot be read")
                }
                given["token"] = text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            switch (given["token"], given["sha256"]) {
            case (let token as String, nil) where token.utf8.count >= 16:
                digest = Self.hash(token.utf8)
            case (_?, nil):
                throw Problem(description: "tokens[\(index)] (\(name)): `token` must be a string of at least 16 characters")
            case (nil, let hex as String):
                guard let parsed = Self.digest(hex: hex) else {
                    throw Problem(description: "tokens[\(index)] (\(name)): `sha256` must be 64 hex digits")
                }
                digest = parsed
            case (nil, _?):
                throw Problem(description: "tokens[\(index)] (\(name)): `sha256` must be 64 hex digits")
            case (nil, nil), (_?, _?):
                throw Problem(description: "tokens[\(index)] (\(name)): give exactly one of `token`, `sha256` and `tokenFile`")
            }
            guard tokens.entries[digest] == nil else {
                throw Problem(description: "tokens[\(index)] (\(name)): the same token is given twice")
            }
            tokens.entries[digest] = Entry(name: name, role: role)
        }
        return tokens
    }

    /// A DNS-1123 subdomain, like a worker name: a worker entry's name is the worker name it acts as.
    private static func isValidName(_ name: String) -> Bool {
        (1...253).contains(name.utf8.count)
            && name.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d || $0 == 0x2e }
    }

    /// The SHA-256 of `token`, as bytes.
    static func hash(_ token: some Collection<UInt8>) -> [UInt8] { Array(SHA256.hash(data: Array(token))) }

    private static func digest(hex: String) -> [UInt8]? {
        let digits = Array(hex.lowercased().utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 64, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
