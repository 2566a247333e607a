"""The Layer 2 profile per cohort (and its overall estimates) from the analyze CSVs, in vectorised pandas:
the reference `cargo bench --bench analyze_cli` times `layer2 analyze` against (issue 17).
Usage: python3 pandas_profile.py DIR [WINDOW_MINUTES] [MIN_COMPLIANCE]; prints JSON (the figures and the
seconds taken after imports)."""
import json, sys, time
import numpy as np, pandas as pd

d = sys.argv[1]
window = pd.Timedelta(minutes=int(sys.argv[2]) if len(sys.argv) > 2 else 30)
min_compliance = float(sys.argv[3]) if len(sys.argv) > 3 else 1 / 3
t0 = time.perf_counter()
p = pd.read_csv(f"{d}/participants.csv", dtype={"id": str, "cohort": str}).set_index("id")
diary = pd.read_csv(f"{d}/diary.csv", usecols=["participant_id", "logged_at", "outcome"])
pd.to_datetime(diary["logged_at"], format="ISO8601")  # checked, as analyze checks it
pings = pd.read_csv(f"{d}/pings.csv")
pop = pd.read_csv(f"{d}/population.csv").set_index("cohort")["population"]
sent = pd.to_datetime(pings["sent_at"], format="ISO8601")
answered = pd.to_datetime(pings["answered_at"], format="ISO8601")
valid = answered.notna() & (answered - sent <= window)
used = valid & (pings["used_copilot"] == 1)
minutes = pings[["verification_min", "correction_min", "context_min", "trust_min"]].fillna(0).sum(axis=1)
g = pd.DataFrame({"delivered": 1, "valid": valid, "u": used, "m": minutes.where(used, 0)})
g = g.groupby(pings["participant_id"]).sum()
t = pd.DataFrame({"n": 1, "y": diary["outcome"].isin(["all", "most"])}).groupby(diary["participant_id"]).sum()
p = p.join(t).join(g).fillna({"n": 0, "y": 0, "delivered": 0, "valid": 0, "u": 0, "m": 0})
p = p[(p["delivered"] > 0) & (p["valid"] / p["delivered"].where(p["delivered"] > 0) >= min_compliance)]
out, overall = {}, {}
for cohort, c in p.groupby("cohort"):
    n, N = len(c), pop[cohort]
    Y, O, G = c["y"].sum() / c["n"].sum(), c["m"].sum() / c["u"].sum(), c["gross_hours_month"].mean()
    zY, zO = (c["y"] - Y * c["n"]) / c["n"].sum(), (c["m"] - O * c["u"]) / c["u"].sum()
    zG = (c["gross_hours_month"] - G) / n
    zM = zY - zO / 60
    z = {"yield": zY, "oversight_min_per_hour": zO, "gross_hours_month": zG,
         "net_hours_month": (Y - O / 60) * zG + G * zY - (G / 60) * zO, "labor_multiplier": zM, "vendor_gap": -zM}
    est = {"yield": Y, "oversight_min_per_hour": O, "gross_hours_month": G, "net_hours_month": G * Y - G * O / 60,
           "labor_multiplier": Y - O / 60, "vendor_gap": 1 - (Y - O / 60)}
    se = {k: float(np.sqrt((1 - n / N) * n / (n - 1) * ((v - v.mean()) ** 2).sum())) for k, v in z.items()}
    out[cohort] = {"n": n, **{k: {"estimate": float(est[k]), "se": se[k]} for k in est}}
    for k in ("yield", "oversight_min_per_hour", "gross_hours_month", "net_hours_month"):
        overall[k] = overall.get(k, 0.0) + float(est[k]) * N / pop.sum()
overall["labor_multiplier"] = overall["net_hours_month"] / overall["gross_hours_month"]
overall["vendor_gap"] = 1 - overall["labor_multiplier"]
seconds = time.perf_counter() - t0
print(json.dumps({"cohorts": out, "overall": overall, "n": len(p), "seconds": seconds}))
