"""The one set of human formats for figures (energy, mass, duration) shared by the CLI, reports and dashboard."""

from __future__ import annotations


def fmt_energy(joules: float) -> str:
    """Human energy: µJ below 1 mJ, mJ below 1 J, J below 10 kJ, Wh below 10 kWh, else kWh/MWh."""
    if 0 < joules < 1e-3:
        return f"{joules * 1e6:,.1f} µJ"
    if 0 < joules < 1:
        return f"{joules * 1e3:,.1f} mJ"
    if joules < 1e4:
        return f"{joules:,.1f} J"
    wh = joules / 3600.0
    if wh < 1e4:
        return f"{wh:,.2f} Wh"
    return f"{wh / 1000:,.2f} kWh" if wh < 1e7 else f"{wh / 1e6:,.2f} MWh"


def fmt_small_energy(joules: float) -> str:
    """:func:`fmt_energy` with three significant digits in µJ and mJ, for the tiny figures per token."""
    if 0 < joules < 1e-3:
        return f"{joules * 1e6:,.3g} µJ"
    if 0 < joules < 1:
        return f"{joules * 1e3:,.3g} mJ"
    return fmt_energy(joules)


def fmt_mass(kg: float) -> str:
    """Human mass (of CO2e): mg, g, kg or t with two decimals."""
    if kg < 1e-3:
        return f"{kg * 1e6:,.2f} mg"
    if kg < 1:
        return f"{kg * 1e3:,.2f} g"
    return f"{kg:,.2f} kg" if kg < 1000 else f"{kg / 1000:,.2f} t"


def fmt_kg_sig(kg: float) -> str:
    """A planning figure of mass: three significant digits, kg or t."""
    return f"{kg / 1000:,.3g} t" if kg >= 1000 else f"{kg:,.3g} kg"


def fmt_kwh_sig(kwh: float) -> str:
    """A planning figure of energy: four significant digits, kWh or MWh."""
    return f"{kwh / 1000:,.4g} MWh" if kwh >= 1000 else f"{kwh:,.4g} kWh"


def fmt_duration(s: float) -> str:
    """Human duration: ``3.2s`` below 10 s, then ``42s``, ``5m07s``, ``2h05m``."""
    if s < 10:
        return f"{s:.1f}s"
    s = round(s)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"
