"""dbt_like_models."""
