import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle

/// Puts a changed POOLS_FILE in force without a restart. It reads the file every `interval` (a
/// ConfigMap volume changes by swapping a symlink, which no watch on the path sees reliably); a file
/// that fails to parse or validate is refused with its reason in the log and
/// `rollcall_pools_file_refusals_total`, and the pools in force stay. While a pool's change is held back
/// (its partition count cannot change with live leases), every check tries it again.
struct PoolsFileWatcher: Service {
    let path: String
    let defaults: LeaseSettings
    let pools: PoolDirectory
    let metrics: ControlPlaneMetrics
    let interval: Duration
    let logger: Logger

    func run() async throws {
        var applied = try? Self.text(path)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let text: String
            do {
                text = try Self.text(path)
            } catch {
                if applied != nil { refuse("\(error)") }
                applied = nil
                continue
            }
            guard text != applied || !pools.held.isEmpty else { continue }
            let declarations: PoolDeclarations
            do {
                declarations = try Self.parse(text, defaults: defaults)
            } catch {
                if text != applied { refuse(error.description) }
                applied = text
                continue
            }
            let before = pools.declarations
            let heldBack = await pools.apply(declarations) { await $0.liveLeases() }
            for (pool, why) in heldBack {
                metrics.poolsFileRefusals.increment()
                logger.error("POOLS_FILE change held back", metadata: ["pool": "\(pool)", "reason": "\(why)"])
            }
            if pools.declarations != before {
                logger.notice(
                    "POOLS_FILE in force", metadata: ["path": "\(path)", "pools": "\(pools.declarations.pools.map(\.name.rawValue))"])
                // A new or changed pool gets a look: recovery begins, a layout for its partition count is published.
                try? await pools.schedule.markDue(pools.declarations.pools.map(\.name))
            }
            applied = text
        }
    }

    private func refuse(_ why: String) {
        metrics.poolsFileRefusals.increment()
        logger.error("POOLS_FILE refused; the pools in force stay", metadata: ["path": "\(path)", "reason": "\(why)"])
    }

    /// The declarations in the file at `path`, or a `ValidationError` naming the file, the pool and the field.
    static func read(_ path: String, defaults: LeaseSettings) throws -> PoolDeclarations {
        do {
            return try parse(try text(path), defaults: defaults)
        } catch {
            throw ValidationError("POOLS_FILE \(path): \(error)")
        }
    }

    private static func parse(_ text: String, defaults: LeaseSettings) throws(PoolsFile.Problem) -> PoolDeclarations {
        let declarations = try PoolsFile.parse(text, defaults: defaults)
        guard !declarations.pools.isEmpty || declarations.autoCreate != nil else {
            throw PoolsFile.Problem(description: "it declares no pool and no autoCreate: nothing could be served")
        }
        return declarations
    }

    private static func text(_ path: String) throws(PoolsFile.Problem) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PoolsFile.Problem(description: "cannot be read (\(String(cString: strerror(errno))))")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw PoolsFile.Problem(description: "is not UTF-8 text") }
        return text
    }
}
