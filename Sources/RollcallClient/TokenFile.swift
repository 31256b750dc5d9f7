import Foundation
import Synchronization

/// A bearer token read from a file and read again whenever the file changes: the kubelet rotates a
/// projected service-account token in place (it swaps a symlink), well before the old one expires.
/// Each use costs one `stat`; a file that cannot be read keeps the token read last.
final class TokenFile: Sendable {
    let path: String
    private let state: Mutex<(token: String?, inode: UInt64, modified: timespec, size: Int64)>

    init(path: String, token: String? = nil) {
        self.path = path
        state = Mutex((token, 0, timespec(), -1))
    }

    /// The token in the file now (without trailing line breaks), or the last one read.
    func current() -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else { return state.withLock { $0.token } }
        let inode = UInt64(status.st_ino)
        let modified = status.st_mtim
        let size = Int64(status.st_size)
        let unchanged = state.withLock {
            $0.inode == inode && $0.modified.tv_sec == modified.tv_sec && $0.modified.tv_nsec == modified.tv_nsec && $0.size == size
        }
        if unchanged { return state.withLock { $0.token } }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return state.withLock { $0.token } }
        var token = Substring(text)
        while let last = token.last, last.isWhitespace { token.removeLast() }
        return state.withLock { state in
            if !token.isEmpty { state.token = String(token) }
            state.inode = inode
            state.modified = modified
            state.size = size
            return state.token
        }
    }
}
