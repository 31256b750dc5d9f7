/// The version of this Rollcall build, printed by `--version` and served in logs.
public let rollcallVersion = "0.3.0"
