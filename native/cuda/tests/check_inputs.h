// What the check programs (check.cu on a card, emulate/check.cpp on the host emulation) share: their
// seeded inputs and the TF32 tolerance.
#pragma once

#include <cstdlib>
#include <vector>

// TF32 variants round each input to a 10-bit mantissa (unit roundoff u = 2^-11 = 4.9e-4), so each
// product is off by up to 2u = 9.8e-4 relative; on these random inputs, whose rounding errors have
// random signs, the norm-wise error of a sum is at most about that. Bound used: 5e-3, five times
// the per-product bound, still far below the ~1 of a wrong index or a dropped tile.
static const double kTf32Tolerance = 5e-3;

// n values uniform in [-1, 1] from the C library's generator seeded with seed.
static std::vector<float> random_vector(size_t n, unsigned seed) {
    std::vector<float> v(n);
    srand(seed);
    for (auto& x : v) x = (float)((double)rand() / RAND_MAX * 2.0 - 1.0);
    return v;
}
