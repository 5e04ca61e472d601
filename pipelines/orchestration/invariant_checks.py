"""Asset checks: the DESIGN.md invariants gate publishing (blocking checks)."""

from collections.abc import Callable

from dagster import AssetCheckResult, AssetChecksDefinition, AssetsDefinition, asset_check

from pipelines.orchestration.assets import Release
from pipelines.quality import invariants


def _as_check_result(result: invariants.InvariantResult) -> AssetCheckResult:
    return AssetCheckResult(
        passed=result.passed, description=result.description, metadata=dict(result.metadata)
    )


def build_invariant_checks(release_asset: AssetsDefinition) -> list[AssetChecksDefinition]:
    """One blocking check per invariant on the release tables."""

    @asset_check(asset=release_asset, blocking=True, name="every_row_accounted_for")
    def every_row_accounted_for(release_tables: Release) -> AssetCheckResult:
        """Every input row is in customer_xref or quarantine, exactly once."""
        return _as_check_result(
            invariants.every_row_accounted_for(
                release_tables.tables, rows_in=release_tables.rows_in
            )
        )

    def table_check(check: Callable[[invariants.Tables], invariants.InvariantResult]):  # type: ignore[no-untyped-def]
        @asset_check(
            asset=release_asset, blocking=True, name=check.__name__, description=check.__doc__
        )
        def _check(release_tables: Release) -> AssetCheckResult:
            return _as_check_result(check(release_tables.tables))

        return _check

    return [every_row_accounted_for, *(table_check(c) for c in invariants.TABLE_INVARIANTS)]
