import Coordination

// The control plane's server arrives with its own issue; until then this binary only tells its version.
print("control-plane \(rollcallVersion)")
