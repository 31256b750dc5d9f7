/// The version of this Rollcall build, printed by `--version` and served in logs. The one source of
/// the version: scripts/check-repository fails when docs/openapi.yaml or chart/Chart.yaml say another.
public let rollcallVersion = "0.3.0"
