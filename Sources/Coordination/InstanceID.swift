/// The random id a worker process makes at start: 1–64 characters of `[A-Za-z0-9._-]`. It tells two
/// processes with one name apart, so a restarted pod cannot renew the lease of its previous life.
public enum InstanceID {
    /// Whether `text` is a valid instance id.
    public static func isValid(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy { isAllowed($0) || $0 == UInt8(ascii: "_") }
    }

    public static let rule = "an instance id is 1-64 characters of [A-Za-z0-9._-]"
}
