/**
 * The float64 reference ops of the training path and their backwards (internal: used by
 * `cpu_backward.ts` and by the GPU kernel tests as the reference each kernel is checked against).
 *
 * @module
 */

// Ops, each out first, then inputs, then dimensions.

/** out (n, OC) = x (n, IC) · wᵀ (OC, IC) + b. */
export function matmul(
  out: Float64Array,
  x: Float64Array,
  w: Float64Array,
  b: Float64Array | null,
  n: number,
  IC: number,
  OC: number,
): void {
  for (let t = 0; t < n; t++) {
    const xo = t * IC;
    for (let o = 0; o < OC; o++) {
      const wo = o * IC;
      let s = b === null ? 0 : b[o];
      for (let i = 0; i < IC; i++) s += x[xo + i] * w[wo + i];
      out[t * OC + o] = s;
    }
  }
}

/** dx (n, IC) = dy · w (set), dw += dyᵀ · x, db += Σ_t dy. */
export function matmulBackward(
  dx: Float64Array | null,
  dw: Float64Array,
  db: Float64Array | null,
  dy: Float64Array,
  x: Float64Array,
  w: Float64Array,
  n: number,
  IC: number,
  OC: number,
): void {
  if (dx !== null) dx.fill(0, 0, n * IC);
  for (let t = 0; t < n; t++) {
    const xo = t * IC;
    for (let o = 0; o < OC; o++) {
      const g = dy[t * OC + o];
      if (g === 0) continue;
      const wo = o * IC;
      if (db !== null) db[o] += g;
      for (let i = 0; i < IC; i++) {
        dw[wo + i] += g * x[xo + i];
        if (dx !== null) dx[xo + i] += g * w[wo + i];
      }
    }
  }
}

/** out (rows, D) = x · rstd · w, rstd (rows) = 1/sqrt(mean(x²) + eps). */
export function rmsnorm(
  out: Float64Array,
  rstd: Float64Array,
  x: Float64Array,
  w: Float64Array,
  rows: number,
  D: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * D;
    let ss = 0;
    for (let i = 0; i < D; i++) ss += x[o + i] * x[o + i];
    const inv = 1 / Math.sqrt(ss / D + eps);
    rstd[r] = inv;
    for (let i = 0; i < D; i++) out[o + i] = x[o + i] * inv * w[i];
  }
}

/**
 * dx (rows, D) = rstd·(w⊙dy) − x·rstd³/D·Σ(w⊙dy⊙x) (set), dw += Σ_rows dy⊙x·rstd.
 * `dx` may alias `dy`.
 */
export function rmsnormBackward(
  dx: Float64Array,
  dw: Float64Array,
  dy: Float64Array,
  x: Float64Array,
  rstd: Float64Array,
  w: Float64Array,
  rows: number,
  D: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * D;
    const inv = rstd[r];
    let dot = 0;
    for (let i = 0; i < D; i++) {
      dot += w[i] * dy[o + i] * x[o + i];
      dw[i] += dy[o + i] * x[o + i] * inv;
    }
    const k = dot * inv * inv * inv / D;
    for (let i = 0; i < D; i++) dx[o + i] = inv * w[i] * dy[o + i] - k * x[o + i];
  }
}

/**
 * Rotates x (T, heads, HS) in place, HF rotate_half convention, by angle pos·invFreq[i] (the
 * angle and its cos/sin rounded to float32 as both inference backends do); `sign` −1 applies the
 * inverse rotation, which is RoPE's backward.
 */
export function rope(
  x: Float64Array,
  T: number,
  heads: number,
  HS: number,
  invFreq: Float32Array,
  sign: 1 | -1,
): void {
  const half = HS / 2;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(t * invFreq[i]);
      const cos = Math.fround(Math.cos(angle));
      const sin = sign * Math.fround(Math.sin(angle));
      for (let h = 0; h < heads; h++) {
        const o = (t * heads + h) * HS;
        const a = x[o + i];
        const b = x[o + i + half];
        x[o + i] = a * cos - b * sin;
        x[o + i + half] = b * cos + a * sin;
      }
    }
  }
}

/**
 * out (T, QD) = causal softmax(q·kᵀ/√HS)·v per query head (GQA: head h reads kv head
 * h / (NH/NKV)); probs (NH, T, T) keeps the softmax for the backward (zero above the diagonal).
 */
export function attention(
  out: Float64Array,
  probs: Float64Array,
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  T: number,
  NH: number,
  NKV: number,
  HS: number,
): void {
  const groups = NH / NKV;
  const QD = NH * HS, KVD = NKV * HS;
  const scale = 1 / Math.sqrt(HS);
  probs.fill(0);
  out.fill(0, 0, T * QD);
  for (let h = 0; h < NH; h++) {
    const kvo = Math.floor(h / groups) * HS;
    for (let t = 0; t < T; t++) {
      const p = probs.subarray((h * T + t) * T, (h * T + t + 1) * T);
      const qo = t * QD + h * HS;
      let max = -Infinity;
      for (let j = 0; j <= t; j++) {
        let dot = 0;
        for (let i = 0; i < HS; i++) dot += q[qo + i] * k[j * KVD + kvo + i];
        p[j] = dot * scale;
        if (p[j] > max) max = p[j];
      }
      let denom = 0;
      for (let j = 0; j <= t; j++) {
        p[j] = Math.exp(p[j] - max);
        denom += p[j];
      }
      for (let j = 0; j <= t; j++) {
        p[j] /= denom;
        for (let i = 0; i < HS; i++) out[qo + i] += p[j] * v[j * KVD + kvo + i];
      }
    }
  }
}

/** dq (set), dk, dv (set) from dout (T, QD), through the saved softmax. */
export function attentionBackward(
  dq: Float64Array,
  dk: Float64Array,
  dv: Float64Array,
  dout: Float64Array,
  probs: Float64Array,
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  T: number,
  NH: number,
  NKV: number,
  HS: number,
): void {
  const groups = NH / NKV;
  const QD = NH * HS, KVD = NKV * HS;
  const scale = 1 / Math.sqrt(HS);
  dq.fill(0, 0, T * QD);
  dk.fill(0, 0, T * KVD);
  dv.fill(0, 0, T * KVD);
  const dp = new Float64Array(T);
  for (let h = 0; h < NH; h++) {
    const kvo = Math.floor(h / groups) * HS;
    for (let t = 0; t < T; t++) {
      const p = probs.subarray((h * T + t) * T, (h * T + t + 1) * T);
      const qo = t * QD + h * HS;
      // dp_j = dout·v_j; softmax backward ds_j = p_j (dp_j − Σ p dp).
      let pdp = 0;
      for (let j = 0; j <= t; j++) {
        let s = 0;
        for (let i = 0; i < HS; i++) {
          s += dout[qo + i] * v[j * KVD + kvo + i];
          dv[j * KVD + kvo + i] += p[j] * dout[qo + i];
        }
        dp[j] = s;
        pdp += p[j] * s;
      }
      for (let j = 0; j <= t; j++) {
        const ds = p[j] * (dp[j] - pdp) * scale;
        for (let i = 0; i < HS; i++) {
          dq[qo + i] += ds * k[j * KVD + kvo + i];
          dk[j * KVD + kvo + i] += ds * q[qo + i];
        }
      }
    }
  }
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
