import Foundation
import Logging
import ServiceLifecycle

/// Puts a changed AUTH_TOKENS_FILE in force without a restart (a token added, rotated or revoked, in
/// the file or in a `tokenFile` it names), read every `interval` like POOLS_FILE. A file that cannot be
/// read or parsed is refused with its reason in the log; the tokens in force stay.
struct TokensFileWatcher: Service {
    let path: String
    let access: AccessControl
    let interval: Duration
    let logger: Logger

    func run() async throws {
        // Graceful shutdown ends the sleep at once: nothing here needs finishing.
        try? await cancelWhenGracefulShutdown { try await loop() }
    }

    private func loop() async throws {
        var applied = try? AccessControl.readTokensFile(path)
        var lastRefusal: String?
        while !Task.isCancelled {
            try await Task.sleep(for: interval)
            do {
                let tokens = try AccessControl.readTokensFile(path)
                lastRefusal = nil
                guard tokens != applied else { continue }
                applied = tokens
                access.replaceTokens(tokens)
                logger.notice("AUTH_TOKENS_FILE in force", metadata: ["path": "\(path)", "tokens": "\(tokens.count)"])
            } catch {
                // Logged once per distinct problem, not every interval.
                if "\(error)" != lastRefusal {
                    logger.error("AUTH_TOKENS_FILE refused; the tokens in force stay", metadata: ["reason": "\(error)"])
                }
                lastRefusal = "\(error)"
            }
        }
    }
}
