import Coordination

// The worker's loops arrive with their own issue; until then this binary only tells its version.
print("worker \(rollcallVersion)")
