"""Build the protection building blocks from a :class:`ServerConfig` (one place for the mapping)."""

from __future__ import annotations

from .config import ServerConfig
from .lockout import LockoutPolicy
from .passwords import Argon2Params
from .ratelimit import BanLadder, GateConfig, RateLimitConfig, RateSpec

__all__ = ["argon2_params", "gate_config", "lockout_policy", "rate_limit_config"]


def _spec(pair: tuple[float, float]) -> RateSpec:
    return RateSpec(rate=float(pair[0]), burst=float(pair[1]))


def rate_limit_config(config: ServerConfig) -> RateLimitConfig:
    """Per-connection token buckets from ``[rate_limits]``."""
    return RateLimitConfig(
        messages=_spec(config.rate_messages),
        control=_spec(config.rate_control),
        images=_spec(config.rate_images),
        joins=_spec(config.rate_joins),
        logins=_spec(config.rate_logins),
        key_fetches=_spec(config.rate_key_fetches),
        commands=_spec(config.rate_commands),
        refusals=_spec(config.rate_refusals),
    )


def gate_config(config: ServerConfig) -> GateConfig:
    """Connection admission limits from ``[connections]``."""
    return GateConfig(
        max_connections=config.max_connections,
        max_per_address=config.max_per_address,
        connect_rate=_spec(config.connect_rate),
        connect_refusals=_spec(config.connect_refusals),
        bans=BanLadder(steps=tuple(config.ban_steps), forgive_after=config.ban_forgive_after),
        exempt=tuple(config.exempt),
    )


def lockout_policy(config: ServerConfig) -> LockoutPolicy:
    """Login lockout numbers from ``[lockout]``."""
    return LockoutPolicy(
        max_failures=config.lockout_max_failures,
        window=config.lockout_window,
        delay_base=config.lockout_delay_base,
        delay_cap=config.lockout_delay_cap,
        trusted_for=config.lockout_trusted_for,
    )


def argon2_params(config: ServerConfig) -> Argon2Params:
    """Argon2id cost from ``[accounts]`` (validated to be at least the OWASP floor)."""
    return Argon2Params(
        memory_kib=config.argon2_memory_kib,
        iterations=config.argon2_iterations,
        lanes=config.argon2_lanes,
    )
