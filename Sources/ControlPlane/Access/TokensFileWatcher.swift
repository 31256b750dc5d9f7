import Foundation
import Logging
import ServiceLifecycle

/// Puts a changed AUTH_TOKENS_FILE in force without a restart (a token added, rotated or revoked),
/// read every `interval` like POOLS_FILE. A file that cannot be read or parsed is refused with its
/// reason in the log; the tokens in force stay.
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
        var applied = try? String(contentsOfFile: path, encoding: .utf8)
        while !Task.isCancelled {
            try await Task.sleep(for: interval)
            let text = try? String(contentsOfFile: path, encoding: .utf8)
            guard text != applied else { continue }
            applied = text
            guard let text else {
                logger.error("AUTH_TOKENS_FILE cannot be read; the tokens in force stay", metadata: ["path": "\(path)"])
                continue
            }
            do {
                let tokens = try StaticTokens.parse(text)
                access.replaceTokens(tokens)
                logger.notice("AUTH_TOKENS_FILE in force", metadata: ["path": "\(path)", "tokens": "\(tokens.count)"])
            } catch {
                logger.error(
                    "AUTH_TOKENS_FILE refused; the tokens in force stay", metadata: ["path": "\(path)", "reason": "\(error.description)"])
            }
        }
    }
}
