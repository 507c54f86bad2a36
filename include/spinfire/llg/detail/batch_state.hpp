#pragma once
// One group of lanes of an ensemble as the integration loop holds it: parameters packed into
// scalar type T (lane i = device first + i), the Brown field scale, the drives, and the
// lanes' state (lane_group, what observers see). Loaded once per integration, stored once.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "spinfire/core/aligned.hpp"
#include "spinfire/core/simd.hpp"
#include "spinfire/core/vec3.hpp"
#include "spinfire/llg/drive.hpp"
#include "spinfire/llg/observer.hpp"

namespace spinfire::llg::detail {

template <class System, class T>
struct batch_state {
    using S = simd::scalar_of_t<T>;
    static constexpr std::size_t w = simd::lanes_v<T>;

    typename System::template params<T> p;
    T gp, sigma;
    lane_group<T> lanes;
    bool const_drive = true, noisy = false;
    bool shared_drive = true; // every lane has the same drive: evaluate it once
    const drive* dr[w];

    /// Lane i of the group is device min(first + i, n - 1): pad lanes copy the last one.
    batch_state(std::size_t first,
                const std::vector<typename System::template params<double>>& params,
                const std::vector<drive>& drives, const aligned_vector<S>& mx,
                const aligned_vector<S>& my, const aligned_vector<S>& mz, double dt) {
        const std::size_t n = params.size();
        const typename System::template params<double>* lp[w];
        alignas(SPINFIRE_ALIGNMENT) S x[w], y[w], z[w], sg[w];
        lanes.first = first;
        lanes.real = 0;
        for (std::size_t i = 0; i < w; ++i) {
            const std::size_t k = std::min(first + i, n - 1);
            lp[i] = &params[k];
            dr[i] = &drives[k];
            const_drive = const_drive && dr[i]->is_constant();
            shared_drive = shared_drive && (dr[i] == dr[0] || *dr[i] == *dr[0]);
            lanes.real += first + i < n;
            x[i] = mx[k], y[i] = my[k], z[i] = mz[k];
            sg[i] = S(System::sigma_rate(*lp[i]) / std::sqrt(dt));
            noisy = noisy || sg[i] > 0;
        }
        p = System::template pack<T>(lp);
        gp = System::reduced_gamma(p);
        sigma = simd::load<T>(sg);
        lanes.m = vec3<T>(simd::load<T>(x), simd::load<T>(y), simd::load<T>(z));
        lanes.active = T(0) == T(0);
        lanes.n_active = lanes.real;
    }

    /// The lanes' drives at t; with side != 0 their one-sided limits there (drive::limit).
    T drive_at(double t, int side = 0, double eps = 0) const {
        auto at = [&](const drive& d) { return side == 0 ? d(t) : d.limit(t, side, eps); };
        if (shared_drive) return T(S(at(*dr[0])));
        alignas(SPINFIRE_ALIGNMENT) S buf[w];
        for (std::size_t i = 0; i < w; ++i) buf[i] = S(at(*dr[i]));
        return simd::load<T>(buf);
    }

    /// Writes the real lanes' m back.
    void store(aligned_vector<S>& mx, aligned_vector<S>& my, aligned_vector<S>& mz) const {
        alignas(SPINFIRE_ALIGNMENT) S bx[w], by[w], bz[w];
        simd::store(bx, lanes.m.x), simd::store(by, lanes.m.y), simd::store(bz, lanes.m.z);
        for (std::size_t i = 0; i < lanes.real; ++i) {
            const std::size_t k = lanes.first + i;
            mx[k] = bx[i], my[k] = by[i], mz[k] = bz[i];
        }
    }
};

} // namespace spinfire::llg::detail
