import Coordination

/// What changed in a worker's lease or grants, in the order it must be acted on.
public enum LeaseEvent: Hashable, Sendable {
    /// The first lease of this process.
    case leaseAcquired(Lease)
    /// A lease again after `leaseLost`; the number and epoch may differ from the lost one.
    case leaseRegained(Lease)
    /// The lease is no longer safe (no renewal in time, another instance holds the name, or released):
    /// stop every partition and stop issuing ids now. Every grant is gone with it.
    case leaseLost(LeaseLossReason)
    /// Partitions that may be processed from now on.
    case granted([PartitionGrant])
    /// Partitions that must be stopped now; the client stops reporting them held, which lets the
    /// control plane hand them on.
    case revoked([Partition])
}

/// Why a lease stopped being safe.
public enum LeaseLossReason: Hashable, Sendable {
    /// No heartbeat renewed it before `sent + leaseTTL * (1 - driftAllowance)`.
    case expired
    /// The control plane answered with another number or epoch: the old lease had ended there.
    case replaced
    /// Another instance of the same worker name holds the lease.
    case conflict
    /// The lease store lost its state and could not give this lease back (another worker holds the
    /// number now, or may still believe it does).
    case unknownToStore
    /// The client released it (shutdown).
    case released
}
