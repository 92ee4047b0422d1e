# Reference values for CarinaEvalTests, computed with scikit-learn 1.9.1 / numpy on the arrays written in
# the tests and pasted there by hand (the tests never run Python). Not for: anything at build or test time.
# Run: python make_reference.py  (prints Swift-ready literals, one block per test)
import warnings

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (accuracy_score, auc, average_precision_score, cohen_kappa_score, f1_score,
                             matthews_corrcoef, precision_recall_curve, precision_score, recall_score,
                             roc_auc_score)
from sklearn.preprocessing import StandardScaler

warnings.simplefilter("ignore")
print("# sklearn", sklearn.__version__, "numpy", np.__version__)


def fmean(values):
    return float(np.mean(values))


def lit(values):
    return "[" + ", ".join("nil" if v is None else repr(float(v)) for v in values) + "]"


# --- Multi-label data of MetricTests (12 samples x 5 classes; -1 unknown). Class c: known labels all 0;
# class e: nothing known. Scores tie inside classes and across classes, and sit on the 0.5 threshold.
labels = np.array([
    [1, 0, 0, 1, -1],
    [0, 1, 0, 0, -1],
    [1, 1, -1, 0, -1],
    [0, 0, 0, 1, -1],
    [-1, 1, 0, 1, -1],
    [1, 0, 0, 0, -1],
    [0, -1, 0, 0, -1],
    [1, 1, 0, -1, -1],
    [0, 0, -1, 1, -1],
    [0, 1, 0, 0, -1],
    [1, 0, 0, 1, -1],
    [0, 0, 0, 0, -1],
], dtype=np.float64)
scores = np.array([
    [0.9, 0.3, 0.5, 0.7, 0.1],
    [0.5, 0.8, 0.2, 0.5, 0.2],
    [0.7, 0.8, 0.9, 0.3, 0.3],
    [0.5, 0.1, 0.5, 0.9, 0.4],
    [0.2, 0.6, 0.1, 0.5, 0.5],
    [0.5, 0.3, 0.3, 0.2, 0.6],
    [0.3, 0.9, 0.7, 0.5, 0.7],
    [0.8, 0.5, 0.6, 0.8, 0.8],
    [0.1, 0.4, 0.4, 0.6, 0.9],
    [0.3, 0.5, 0.5, 0.1, 0.3],
    [0.7, 0.2, 0.6, 0.5, 0.2],
    [0.6, 0.5, 0.3, 0.4, 0.1],
], dtype=np.float32).astype(np.float64)
C = labels.shape[1]
known = (labels == 0) | (labels == 1)

print("\n// MultiLabel: per class on known entries")
aucs, aps, traps = [], [], []
for j in range(C):
    k = known[:, j]
    y, s = labels[k, j], scores[k, j]
    if k.sum() == 0:
        aucs.append(None); aps.append(None); traps.append(None); continue
    aps.append(average_precision_score(y, s))  # 0 where no positive (sklearn warns)
    aucs.append(roc_auc_score(y, s) if 0 < y.sum() < len(y) else None)
    if y.sum() > 0:
        precision, recall, _ = precision_recall_curve(y, s)
        traps.append(auc(recall, precision))
        if j == 0:
            print("// class a precision_recall_curve: recall", lit(recall), "precision", lit(precision))
    else:
        traps.append(None)
print("roc_auc_score per class:", lit(aucs))
print("macro AUC (mean of defined):", repr(fmean([a for a in aucs if a is not None])))
print("average_precision_score per class:", lit(aps))
print("mAP (mean of non-nil):", repr(fmean([a for a in aps if a is not None])))
print("auc(recall, precision) of precision_recall_curve per class:", lit(traps))
print("macro trapezoid PR-AUC (classes with a positive):", repr(fmean([a for a in traps if a is not None])))
print("micro roc_auc_score (pooled known):", repr(roc_auc_score(labels[known], scores[known])))
print("micro average_precision_score (pooled known):", repr(average_precision_score(labels[known], scores[known])))

print("\n// average_precision_score(average='macro') on fully known labels with an all-negative column")
Y = np.array([[1, 0, 0], [0, 0, 1], [1, 0, 1], [0, 0, 0], [1, 0, 0]])
S = np.array([[0.9, 0.1, 0.4], [0.2, 0.5, 0.4], [0.8, 0.3, 0.7], [0.1, 0.4, 0.2], [0.2, 0.2, 0.9]], dtype=np.float32).astype(np.float64)
print("average=None:", lit(average_precision_score(Y, S, average=None)), "macro:", repr(average_precision_score(Y, S, average="macro")))

print("\n// ThresholdMetrics at threshold 0.5 (prediction = score > 0.5), per class on known entries")
thr = np.float32(0.5)
P, R, F, A, M = [], [], [], [], []
for j in range(C):
    k = known[:, j]
    if k.sum() == 0:
        for lst in (P, R, F, A, M): lst.append(None)
        continue
    y, pred = labels[k, j].astype(int), (scores[k, j] > thr).astype(int)
    P.append(precision_score(y, pred, zero_division=0)); R.append(recall_score(y, pred, zero_division=0))
    F.append(f1_score(y, pred, zero_division=0)); A.append(accuracy_score(y, pred)); M.append(matthews_corrcoef(y, pred))
for name, lst in zip("precision recall f1 accuracy mcc".split(), (P, R, F, A, M)):
    print(name, lit(lst), "mean of non-nil:", repr(fmean([v for v in lst if v is not None])))
yk, pk = labels[known].astype(int), (scores[known] > thr).astype(int)
print("micro precision/recall/f1 (pooled known):", repr(precision_score(yk, pk, zero_division=0)),
      repr(recall_score(yk, pk, zero_division=0)), repr(f1_score(yk, pk, zero_division=0)))
print("// sklearn average='macro'/'micro' directly on the 4 classes' fully known rows 0,1,3,5,9,10,11 (class e left out)")
rows = [0, 1, 3, 5, 9, 10, 11]
Yf, Pf = labels[rows][:, :4].astype(int), (scores[rows][:, :4] > thr).astype(int)
assert ((Yf == 0) | (Yf == 1)).all()
for avg in ("macro", "micro"):
    print(avg, repr(precision_score(Yf, Pf, average=avg, zero_division=0)), repr(recall_score(Yf, Pf, average=avg, zero_division=0)),
          repr(f1_score(Yf, Pf, average=avg, zero_division=0)))
print("mean per-class accuracy_score", repr(fmean([accuracy_score(Yf[:, j], Pf[:, j]) for j in range(4)])),
      "mean per-class matthews_corrcoef", repr(fmean([matthews_corrcoef(Yf[:, j], Pf[:, j]) for j in range(4)])))

print("\n// MultiClassMetrics: 5 classes used (0,1,2,4,5), class 3 never occurs; class 5 only predicted, class 4 only true")
yt = [0, 1, 2, 2, 0, 1, 4, 4, 0, 2, 1, 1, 0, 2]
yp = [0, 2, 2, 2, 1, 1, 0, 5, 0, 2, 1, 0, 0, 1]
print("accuracy", repr(accuracy_score(yt, yp)), "macro F1", repr(f1_score(yt, yp, average="macro", zero_division=0)),
      "macro precision", repr(precision_score(yt, yp, average="macro", zero_division=0)),
      "macro recall", repr(recall_score(yt, yp, average="macro", zero_division=0)), "kappa", repr(cohen_kappa_score(yt, yp)))
print("// with labels=range(6) the never-seen class 3 would count as 0:",
      repr(f1_score(yt, yp, average="macro", labels=list(range(6)), zero_division=0)))

print("\n// Bootstrap: explicit resamples (row index lists) of the multi-label data")
resamples = [
    [0, 0, 1, 3, 3, 5, 7, 7, 8, 10, 11, 11],
    [2, 2, 2, 4, 6, 6, 9, 9, 10, 1, 0, 5],
    [11, 10, 9, 8, 7, 6, 5, 4, 3, 3, 3, 3],
]
for idx in resamples:
    Yr, Sr = labels[idx], scores[idx]
    kr = (Yr == 0) | (Yr == 1)
    aucs_r, aps_r = [], []
    for j in range(C):
        y, s = Yr[kr[:, j], j], Sr[kr[:, j], j]
        aucs_r.append(roc_auc_score(y, s) if 0 < y.sum() < len(y) else None)
        aps_r.append(average_precision_score(y, s) if len(y) else None)
    print("resample", idx)
    print("  auc", lit(aucs_r), "micro", repr(roc_auc_score(Yr[kr], Sr[kr])))
    print("  ap", lit(aps_r), "mAP", repr(fmean([a for a in aps_r if a is not None])))

print("\n// np.percentile (linear) at 2.5 and 97.5")
v = np.array([0.71, 0.64, 0.93, 0.5, 0.82, 0.77, 0.69, 0.88, 0.59, 0.75, 0.8])
print(lit(np.percentile(v, [2.5, 97.5])), "of", lit(v))
w = np.linspace(0, 1, 1000) ** 2
print("of linspace(0,1,1000)**2:", lit(np.percentile(w, [2.5, 97.5])))

print("\n// LinearProbe: StandardScaler fitted on all 40 training rows, then per class")
print("// LogisticRegression(C, tol=1e-12, max_iter=10000) on the rows where that class's label is known")
rng = np.random.default_rng(7)
def make(n):
    x = rng.normal(size=(n, 5)).astype(np.float32)
    x[:, 4] = 1.5  # a constant feature: StandardScaler scales it by 1
    x[:, 1] = x[:, 1] * 3 + 2
    z = np.stack([x[:, 0] + 0.8 * rng.normal(size=n), (x[:, 1] - 2) / 3 - x[:, 2] + rng.normal(size=n),
                  x[:, 3] + 0.5 * x[:, 0] + 1.2 * rng.normal(size=n) + 0.4], axis=1)
    y = (z > 0).astype(np.float32)
    y[rng.random(size=y.shape) < 0.15] = -1
    return x, y
xtr, ytr = make(40)
xte, yte = make(20)
print("trainX:", "[" + ", ".join(repr(np.float32(v)).replace("np.float32(", "").replace(")", "") for v in xtr.ravel()) + "]")
print("trainY:", "[" + ", ".join(str(int(v)) for v in ytr.ravel()) + "]")
print("testX:", "[" + ", ".join(repr(np.float32(v)).replace("np.float32(", "").replace(")", "") for v in xte.ravel()) + "]")
print("testY:", "[" + ", ".join(str(int(v)) for v in yte.ravel()) + "]")
X, Xt = xtr.astype(np.float64), xte.astype(np.float64)
sc = StandardScaler().fit(X)
print("StandardScaler mean_", lit(sc.mean_), "scale_", lit(sc.scale_))
Z, Zt = sc.transform(X), sc.transform(Xt)
for Cval in (1.0, 0.1):
    print(f"C = {Cval}")
    for j in range(3):
        k = ytr[:, j] >= 0
        lr = LogisticRegression(C=Cval, tol=1e-12, max_iter=10000).fit(Z[k], ytr[k, j])
        nc = LogisticRegression(C=Cval, tol=1e-14, max_iter=1000, solver="newton-cholesky").fit(Z[k], ytr[k, j])
        diff = max(np.abs(lr.coef_ - nc.coef_).max(), abs(lr.intercept_[0] - nc.intercept_[0]))
        kt = yte[:, j] >= 0
        d = lr.decision_function(Zt[kt])
        print(f"  class {j}: known {k.sum()} coef", lit(lr.coef_[0]), "intercept", repr(float(lr.intercept_[0])),
              "test AUC", repr(float(roc_auc_score(yte[kt, j], d))), f"(lbfgs vs newton-cholesky max diff {diff:.1e})")
        print("    newton-cholesky (tol=1e-14) coef", lit(nc.coef_[0]), "intercept", repr(float(nc.intercept_[0])))
