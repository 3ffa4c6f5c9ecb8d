"""Rebuild ``src/wattwise/data/cpu/cpus.csv``: the CPUs of the SPECpower file plus current server/desktop lines.

    python bench/build_cpu_catalogue.py --data ../shared/data/specpower/specpower_2004-2018.csv

SPECpower rows take TDP, cores and threads per chip from the file (its cleaning parsed them from the SPEC result
pages); the current lines below are typed from the vendors' specification pages (one source per row). Custom
cloud SKUs have no vendor figure: their TDP is CodeCarbon's ``cpu_power.csv`` value where it has one, else that
of the public SKU with the same core count and generation, and the source says which.
"""

from __future__ import annotations

import argparse
import csv
import re
from collections import Counter
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src/wattwise/data/cpu/cpus.csv"
AMD_SERVER = "https://www.amd.com/en/products/specifications/server-processor.html"
AMD_DESKTOP = "https://www.amd.com/en/products/specifications/processors.html"
CODECARBON = "CodeCarbon 3.3.2 data/hardware/cpu_power.csv (custom cloud SKU, no vendor figure)"


def ark(model: str) -> str:
    return f"https://ark.intel.com/content/www/us/en/ark/search.html?_charset_=UTF-8&q={model.replace(' ', '+')}"


# name, TDP W, cores, threads (per chip), generation, source (None: Intel ARK for the model number)
CURRENT: list[tuple[str, float, int, int, str, str | None]] = [
    # AMD EPYC 7002 (Zen 2, 2019)
    *[(f"AMD EPYC {m}", t, c, 2 * c, "zen2", AMD_SERVER) for m, t, c in [
        ("7252", 120, 8), ("7262", 155, 8), ("7272", 120, 12), ("7282", 120, 16), ("7302", 155, 16),
        ("7302P", 155, 16), ("7352", 155, 24), ("7402", 180, 24), ("7402P", 180, 24), ("7452", 155, 32),
        ("7502", 180, 32), ("7502P", 180, 32), ("7532", 200, 32), ("7542", 225, 32), ("7552", 200, 48),
        ("7642", 225, 48), ("7662", 225, 64), ("7702", 200, 64), ("7702P", 200, 64), ("7742", 225, 64),
        ("7H12", 280, 64), ("7F32", 180, 8), ("7F52", 240, 16), ("7F72", 240, 24)]],
    # AMD EPYC 7003 (Zen 3, 2021)
    *[(f"AMD EPYC {m}", t, c, 2 * c, "zen3", AMD_SERVER) for m, t, c in [
        ("7313", 155, 16), ("7313P", 155, 16), ("7343", 190, 16), ("7413", 180, 24), ("7443", 200, 24),
        ("7443P", 200, 24), ("7453", 225, 28), ("7513", 200, 32), ("7543", 225, 32), ("7543P", 225, 32),
        ("7643", 225, 48), ("7663", 240, 56), ("7713", 225, 64), ("7713P", 225, 64), ("7763", 280, 64),
        ("72F3", 180, 8), ("73F3", 240, 16), ("74F3", 240, 24), ("75F3", 280, 32), ("7373X", 240, 16),
        ("7473X", 240, 24), ("7573X", 280, 32), ("7773X", 280, 64)]],
    # AMD EPYC 9004 / 8004 (Zen 4 / Zen 4c, 2022-2023)
    *[(f"AMD EPYC {m}", t, c, 2 * c, "zen4", AMD_SERVER) for m, t, c in [
        ("9124", 200, 16), ("9174F", 320, 16), ("9224", 200, 24), ("9254", 200, 24), ("9274F", 320, 24),
        ("9334", 210, 32), ("9354", 280, 32), ("9354P", 280, 32), ("9374F", 320, 32), ("9454", 290, 48),
        ("9454P", 290, 48), ("9474F", 360, 48), ("9534", 280, 64), ("9554", 360, 64), ("9554P", 360, 64),
        ("9634", 290, 84), ("9654", 360, 96), ("9654P", 360, 96), ("9684X", 400, 96), ("9734", 340, 112),
        ("9754", 360, 128), ("8124P", 125, 16), ("8324P", 180, 32), ("8434P", 200, 48), ("8534P", 200, 64)]],
    # AMD EPYC 9005 (Zen 5, 2024)
    *[(f"AMD EPYC {m}", t, c, 2 * c, "zen5", AMD_SERVER) for m, t, c in [
        ("9015", 125, 8), ("9135", 200, 16), ("9355", 280, 32), ("9455", 300, 48), ("9555", 360, 64),
        ("9575F", 400, 64), ("9655", 400, 96), ("9755", 500, 128), ("9965", 500, 192)]],
    # custom cloud EPYC SKUs
    ("AMD EPYC 7571", 180, 32, 64, "zen", "AWS custom SKU, no vendor figure: TDP of the EPYC 7601 (32 cores, Zen)"),
    ("AMD EPYC 7B12", 240, 64, 128, "zen2", CODECARBON),
    ("AMD EPYC 7R32", 225, 48, 96, "zen2", "AWS custom SKU, no vendor figure: TDP of the EPYC 7642 (48 cores)"),
    ("AMD EPYC 7V12", 225, 64, 128, "zen2", "Azure custom SKU, no vendor figure: TDP of the EPYC 7742 (64 cores)"),
    ("AMD EPYC 7B13", 280, 64, 128, "zen3", "GCP custom SKU, no vendor figure: TDP of the EPYC 7763 (64 cores)"),
    ("AMD EPYC 7R13", 225, 48, 96, "zen3", CODECARBON),
    ("AMD EPYC 7V13", 280, 64, 128, "zen3", "Azure custom SKU, no vendor figure: TDP of the EPYC 7763 (64 cores)"),
    ("AMD EPYC 9R14", 360, 96, 192, "zen4", "AWS custom SKU, no vendor figure: TDP of the EPYC 9654 (96 cores)"),
    ("AMD EPYC 9B14", 360, 96, 192, "zen4", "GCP custom SKU, no vendor figure: TDP of the EPYC 9654 (96 cores)"),
    # AMD desktop
    *[(f"AMD Ryzen {m}", t, c, 2 * c, g, AMD_DESKTOP) for m, t, c, g in [
        ("9 3950X", 105, 16, "zen2"), ("9 3900X", 105, 12, "zen2"), ("7 3700X", 65, 8, "zen2"),
        ("5 3600", 65, 6, "zen2"), ("9 5950X", 105, 16, "zen3"), ("9 5900X", 105, 12, "zen3"),
        ("7 5800X", 105, 8, "zen3"), ("7 5800X3D", 105, 8, "zen3"), ("5 5600X", 65, 6, "zen3"),
        ("7 5800U", 15, 8, "zen3"), ("9 7950X", 170, 16, "zen4"), ("9 7900X", 170, 12, "zen4"),
        ("7 7700X", 105, 8, "zen4"), ("7 7800X3D", 120, 8, "zen4"), ("5 7600X", 105, 6, "zen4"),
        ("7 7840U", 28, 8, "zen4"), ("9 9950X", 170, 16, "zen5"), ("9 9900X", 120, 12, "zen5"),
        ("7 9700X", 65, 8, "zen5"), ("5 9600X", 65, 6, "zen5"), ("Threadripper 3990X", 280, 64, "zen2"),
        ("Threadripper 7980X", 350, 64, "zen4"), ("Threadripper PRO 5995WX", 280, 64, "zen3")]],
    # Intel Xeon E5 v3 / v4 (Haswell-EP 2014, Broadwell-EP 2016), incl. cloud variants
    *[(f"Intel Xeon E5-{m}", t, c, 2 * c, g, None) for m, t, c, g in [
        ("2630 v3", 85, 8, "haswell"), ("2650 v3", 105, 10, "haswell"), ("2666 v3", 135, 10, "haswell"),
        ("2670 v3", 120, 12, "haswell"), ("2680 v3", 120, 12, "haswell"), ("2690 v3", 135, 12, "haswell"),
        ("2620 v4", 85, 8, "broadwell"), ("2630 v4", 85, 10, "broadwell"), ("2640 v4", 90, 10, "broadwell"),
        ("2650 v4", 105, 12, "broadwell"), ("2660 v4", 105, 14, "broadwell"), ("2680 v4", 120, 14, "broadwell"),
        ("2690 v4", 135, 14, "broadwell"), ("2695 v4", 120, 18, "broadwell"), ("2697 v4", 145, 18, "broadwell")]],
    ("Intel Xeon E5-2673 v3", 110, 12, 24, "haswell", CODECARBON),
    ("Intel Xeon E5-2676 v3", 120, 12, 24, "haswell", "AWS custom SKU, no vendor figure: TDP of the E5-2680 v3"),
    ("Intel Xeon E5-2673 v4", 135, 20, 40, "broadwell", CODECARBON),
    ("Intel Xeon E5-2686 v4", 145, 18, 36, "broadwell", CODECARBON),
    # Xeon Scalable 1st gen (Skylake-SP, 2017)
    *[(f"Intel Xeon {m}", t, c, 2 * c, "skylake", None) for m, t, c in [
        ("Platinum 8170", 165, 26), ("Platinum 8168", 205, 24), ("Platinum 8158", 150, 12),
        ("Platinum 8153", 125, 16), ("Gold 6154", 200, 18), ("Gold 6150", 165, 18), ("Gold 6148", 150, 20),
        ("Gold 6142", 150, 16), ("Gold 6138", 125, 20), ("Gold 6132", 140, 14), ("Gold 6130", 125, 16),
        ("Gold 6126", 125, 12), ("Gold 5120", 105, 14), ("Gold 5118", 105, 12), ("Gold 5115", 85, 10),
        ("Silver 4116", 85, 12), ("Silver 4114", 85, 10), ("Silver 4110", 85, 8), ("Silver 4108", 85, 8),
        ("Bronze 3106", 85, 8)]],
    ("Intel Xeon Platinum 8124M", 240, 18, 36, "skylake", CODECARBON),
    ("Intel Xeon Platinum 8151", 240, 12, 24, "skylake", CODECARBON),
    ("Intel Xeon Platinum 8167M", 165, 26, 52, "skylake", CODECARBON),
    ("Intel Xeon Platinum 8171M", 165, 26, 52, "skylake", CODECARBON),
    ("Intel Xeon Platinum 8175M", 240, 24, 48, "skylake", CODECARBON),
    # 2nd gen (Cascade Lake, 2019)
    *[(f"Intel Xeon {m}", t, c, 2 * c, "cascadelake", None) for m, t, c in [
        ("Platinum 8280", 205, 28), ("Platinum 8276", 165, 28), ("Platinum 8270", 205, 26),
        ("Platinum 8268", 205, 24), ("Platinum 8260", 165, 24), ("Platinum 8253", 125, 16),
        ("Platinum 9282", 400, 56), ("Gold 6254", 200, 18), ("Gold 6252", 150, 24), ("Gold 6248", 150, 20),
        ("Gold 6248R", 205, 24), ("Gold 6258R", 205, 28), ("Gold 6246", 165, 12), ("Gold 6242", 150, 16),
        ("Gold 6240", 150, 18), ("Gold 6240R", 165, 24), ("Gold 6238", 140, 22), ("Gold 6230", 125, 20),
        ("Gold 6226", 125, 12), ("Gold 5220", 125, 18), ("Gold 5220R", 150, 24), ("Gold 5218", 125, 16),
        ("Gold 5217", 115, 8), ("Gold 5215", 85, 10), ("Silver 4216", 100, 16), ("Silver 4214", 85, 12),
        ("Silver 4210", 85, 10), ("Silver 4210R", 100, 10), ("Silver 4208", 85, 8)]],
    ("Intel Xeon Platinum 8259CL", 210, 24, 48, "cascadelake", CODECARBON),
    ("Intel Xeon Platinum 8275CL", 240, 24, 48, "cascadelake", CODECARBON),
    ("Intel Xeon Platinum 8272CL", 195, 26, 52, "cascadelake", CODECARBON),
    # 3rd gen (Ice Lake-SP, 2021)
    *[(f"Intel Xeon {m}", t, c, 2 * c, "icelake", None) for m, t, c in [
        ("Platinum 8380", 270, 40), ("Platinum 8368", 270, 38), ("Platinum 8362", 265, 32),
        ("Platinum 8358", 250, 32), ("Platinum 8352Y", 205, 32), ("Platinum 8351N", 225, 36),
        ("Gold 6348", 235, 28), ("Gold 6354", 205, 18), ("Gold 6338", 205, 32), ("Gold 6336Y", 185, 24),
        ("Gold 6330", 205, 28), ("Gold 6326", 185, 16), ("Gold 5320", 185, 26), ("Gold 5318Y", 165, 24),
        ("Gold 5317", 150, 12), ("Silver 4316", 150, 20), ("Silver 4314", 135, 16), ("Silver 4310", 120, 12),
        ("Silver 4309Y", 105, 8)]],
    ("Intel Xeon Platinum 8375C", 300, 32, 64, "icelake", CODECARBON),
    ("Intel Xeon Platinum 8373C", 300, 36, 72, "icelake", CODECARBON),
    ("Intel Xeon Platinum 8370C", 205, 32, 64, "icelake", CODECARBON),
    # 4th / 5th gen (Sapphire Rapids 2023, Emerald Rapids 2023-12)
    *[(f"Intel Xeon {m}", t, c, 2 * c, "sapphirerapids", None) for m, t, c in [
        ("Platinum 8490H", 350, 60), ("Platinum 8480+", 350, 56), ("Platinum 8470", 350, 52),
        ("Platinum 8468", 350, 48), ("Platinum 8462Y+", 300, 32), ("Platinum 8460Y+", 300, 40),
        ("Platinum 8458P", 350, 44), ("Platinum 8452Y", 300, 36), ("Gold 6448Y", 225, 32),
        ("Gold 6438Y+", 205, 32), ("Gold 6430", 270, 32), ("Gold 6442Y", 225, 24), ("Gold 6426Y", 185, 16),
        ("Gold 5418Y", 185, 24), ("Gold 5416S", 150, 16), ("Silver 4416+", 165, 20), ("Silver 4410Y", 150, 12),
        ("Bronze 3408U", 125, 8)]],
    ("Intel Xeon Platinum 8488C", 350, 48, 96, "sapphirerapids",
     "AWS custom SKU, no vendor figure: TDP of the Xeon Platinum 8468 (48 cores)"),
    ("Intel Xeon Platinum 8481C", 350, 56, 112, "sapphirerapids",
     "GCP custom SKU, no vendor figure: TDP of the Xeon Platinum 8480+ (56 cores)"),
    ("Intel Xeon Platinum 8473C", 350, 52, 104, "sapphirerapids",
     "Azure custom SKU, no vendor figure: TDP of the Xeon Platinum 8470 (52 cores)"),
    *[(f"Intel Xeon {m}", t, c, 2 * c, "emeraldrapids", None) for m, t, c in [
        ("Platinum 8592+", 350, 64), ("Platinum 8580", 350, 60), ("Platinum 8568Y+", 350, 48),
        ("Platinum 8562Y+", 300, 32), ("Gold 6548Y+", 250, 32), ("Gold 6530", 270, 32), ("Gold 5520+", 205, 28),
        ("Silver 4514Y", 150, 16)]],
    ("Intel Xeon 6980P", 500, 128, 256, "graniterapids", None),
    ("Intel Xeon 6972P", 500, 96, 192, "graniterapids", None),
    # Intel desktop / laptop (TDP = Processor Base Power)
    *[(f"Intel Core {m}", t, c, th, g, None) for m, t, c, th, g in [
        ("i9-14900K", 125, 24, 32, "raptorlake"), ("i7-14700K", 125, 20, 28, "raptorlake"),
        ("i5-14600K", 125, 14, 20, "raptorlake"), ("i9-13900K", 125, 24, 32, "raptorlake"),
        ("i7-13700K", 125, 16, 24, "raptorlake"), ("i5-13600K", 125, 14, 20, "raptorlake"),
        ("i5-13400", 65, 10, 16, "raptorlake"), ("i7-1360P", 28, 12, 16, "raptorlake"),
        ("i9-12900K", 125, 16, 24, "alderlake"), ("i7-12700K", 125, 12, 20, "alderlake"),
        ("i5-12600K", 125, 10, 16, "alderlake"), ("i5-12400", 65, 6, 12, "alderlake"),
        ("i7-1260P", 28, 12, 16, "alderlake"), ("i9-11900K", 125, 8, 16, "rocketlake"),
        ("i7-1165G7", 28, 4, 8, "tigerlake"), ("i5-1135G7", 28, 4, 8, "tigerlake"),
        ("i7-1185G7", 28, 4, 8, "tigerlake"), ("i9-10900K", 125, 10, 20, "cometlake"),
        ("i7-10700K", 125, 8, 16, "cometlake"), ("i7-10510U", 15, 4, 8, "cometlake"),
        ("i7-8550U", 15, 4, 8, "kabylake"), ("i5-8250U", 15, 4, 8, "kabylake"), ("i7-8650U", 15, 4, 8, "kabylake"),
        ("i7-8700K", 95, 6, 12, "coffeelake"), ("i9-9900K", 95, 8, 16, "coffeelake"),
        ("Ultra 9 285K", 125, 24, 24, "arrowlake"), ("Ultra 7 265K", 125, 20, 20, "arrowlake"),
        ("Ultra 5 245K", 125, 14, 14, "arrowlake"), ("Ultra 7 155H", 28, 16, 22, "meteorlake")]],
]

SPEC_EXTRA = {"corei3-540": (73.0, "nehalem"), "corei5-4570": (84.0, "haswell")}  # TDP missing in the file
SPEC_ARCH = {"kabylabe": "kabylake", "core": "core", "epyc-gen1": "zen"}


def _opteron_generation(name: str) -> str:
    """K10 (23xx/24xx/83xx/84xx, DDR2) and K8 (22xx) vs Magny-Cours/Bulldozer/Piledriver (41xx-63xx, DDR3)."""
    m = re.search(r"opteron\D*(\d)(\d)", name.lower())
    return "opteron-ddr3" if m and m[1] in "46" else "k10"


def spec_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    by_cpu: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_cpu.setdefault(r["CPUName"], []).append(r)
    out = []
    for key, rs in sorted(by_cpu.items()):
        tdp, arch = (float(rs[0]["TDP"]), rs[0]["Architecture"]) if rs[0]["TDP"] else SPEC_EXTRA.get(key, (0, ""))
        if not tdp or key.endswith("undefined"):
            continue
        arch = rs[0]["Architecture"] or arch
        gen = _opteron_generation(rs[0]["HW_CPUName"]) if arch == "opteron" else SPEC_ARCH.get(arch, arch)
        chips = [int(float(r["CPUChips"])) for r in rs]
        cores = Counter(int(float(r["CPUCores"])) // c for r, c in zip(rs, chips, strict=True)).most_common(1)[0][0]
        threads = Counter(int(float(r["CPUThreads"])) // c for r, c in zip(rs, chips, strict=True)).most_common(1)[0][0]
        threads = min(max(threads, cores), 2 * cores)
        name = re.sub(r"\s+", " ", min((r["HW_CPUName"] for r in rs), key=len)).strip()
        name = re.sub(r"^\d\.\d+\s*GHz\s*|\((r|tm)\)|^(Quad|Six)-Core\s+|Processor\s+", "", name, flags=re.I)
        name = re.sub(r"\s*(\(.*|,.*|\d\.\d+\s*GHz.*|@.*|CPU.*)$", "", name).strip()
        source = f"SPECpower_ssj2008 results via cloud-energy cleaned file ({len(rs)} result(s), hash {rs[0]['hash']})"
        out.append({"pattern": re.sub(r"^(Intel|AMD)\s+", "", name), "name": name, "tdp_w": f"{tdp:g}",
                    "cores": str(cores), "threads": str(threads), "generation": gen, "source": source})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", required=True, type=Path)
    args = ap.parse_args()
    rows = spec_rows(args.data)
    seen = {r["name"].lower() for r in rows}
    for name, tdp, cores, threads, gen, source in CURRENT:
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        pattern = re.sub(r"^(Intel|AMD)\s+", "", name)
        rows.append({"pattern": pattern, "name": name, "tdp_w": f"{tdp:g}", "cores": str(cores),
                     "threads": str(threads), "generation": gen, "source": source or ark(name.split()[-1])})
    with OUT.open("w", newline="") as f:
        w = csv.DictWriter(f, ["pattern", "name", "tdp_w", "cores", "threads", "generation", "source"])
        w.writeheader()
        w.writerows(rows)
    print(f"{len(rows)} CPUs -> {OUT}")


if __name__ == "__main__":
    main()
