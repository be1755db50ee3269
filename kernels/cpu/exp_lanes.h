// e^x over the lanes of a vector type V: Cephes' expf (its range reduction and polynomial), written once for the
// swiglu and attention kernels. Internal to kernels/cpu, like attention_kernels_body.h: included inside an anonymous
// namespace (so no copy escapes to other files) after the including file defines TTT_EXP_TARGET: its level's target
// attribute (swiglu_kernels.cpp), or nothing where a file-wide target pragma already applies (the attention levels).
//
// V provides: F (register), set1, add, mul, fmadd, fnmadd, min, max, round_nearest and pow2m1 (2^(n−1) for integral n
// in [−125, 128]). min and max must return their second operand where one is NaN (as x86's do).
#ifndef TTT_EXP_TARGET
#error "define TTT_EXP_TARGET (the level's target attribute, or nothing under a target pragma) before including cpu/exp_lanes.h"
#endif

// NaN stays NaN; x is clamped to [−86.5, 88.7] (e^x of anything outside is for the caller to decide).
template <class V>
TTT_EXP_TARGET inline typename V::F exp_lanes(typename V::F x) {
    using F = typename V::F;
    // x second keeps a NaN.
    x = V::min(V::set1(88.7f), x);
    x = V::max(V::set1(-86.5f), x);  // n ≥ −125: 2^(n−1) below stays a normal float
    const F n = V::round_nearest(V::mul(x, V::set1(1.44269504088896341f)));
    F r = V::fnmadd(n, V::set1(0.693359375f), x);
    r = V::fnmadd(n, V::set1(-2.12194440e-4f), r);
    F p = V::set1(1.9875691500e-4f);
    p = V::fmadd(p, r, V::set1(1.3981999507e-3f));
    p = V::fmadd(p, r, V::set1(8.3334519073e-3f));
    p = V::fmadd(p, r, V::set1(4.1665795894e-2f));
    p = V::fmadd(p, r, V::set1(1.6666665459e-1f));
    p = V::fmadd(p, r, V::set1(5.0000001201e-1f));
    p = V::fmadd(p, V::mul(r, r), V::add(r, V::set1(1.0f)));
    // 2^n as 2^(n−1)·2, p multiplied first (n ∈ [−125, 128] after the clamp: 2^128 alone would overflow, while n = 128
    // only where p < 1, so the product stays finite).
    return V::mul(V::mul(p, V::pow2m1(n)), V::set1(2.0f));
}
