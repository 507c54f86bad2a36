#pragma once
// Per-layer and whole-network metrics from one or more forwards run with
// context::collect_metrics: spike rates (positive and negative separately), input event
// rates, synaptic operations and the energy estimate of snn.md section 4:
//   first synaptic layer (analog input): MACs x the steps it ran at pj_per_mac (once for a
//     directly encoded image, whose first conv runs once for all T; macs_all_steps keeps
//     the MACs x T that papers usually count)
//   later synaptic layers: SOP = MACs x T x input event rate at pj_per_sop
//   plus pj_per_spike per emitted spike (e.g. ~0.3 pJ for an MTJ neuron).
#include <cstddef>
#include <string>
#include <tuple>
#include <vector>

#include "spinfire/nn/graph.hpp"

namespace spinfire::nn {

struct energy_model {
    double pj_per_mac = 4.6;   ///< 45 nm CMOS MAC
    double pj_per_sop = 0.9;   ///< 45 nm CMOS accumulate
    double pj_per_spike = 0.0; ///< neuron energy per spike
};

struct layer_metrics {
    std::string name, kind;
    std::size_t macs_per_step = 0; ///< dense multiply-accumulates per sample and step
    std::size_t parameters = 0;
    double input_rate = 0;                       ///< fraction of non-zero inputs (synaptic layers)
    double positive_rate = 0, negative_rate = 0; ///< spikes per neuron and step
};

struct network_metrics {
    std::vector<layer_metrics> layers;
    std::size_t steps = 0, parameters = 0;
    double macs = 0;           ///< first-layer MACs per sample, as executed
    double macs_all_steps = 0; ///< first-layer MACs per sample counted for every step
    double sops = 0;           ///< synaptic operations per sample (all T)
    double spikes = 0;         ///< spikes per sample (all layers, all T)
    double energy_pj = 0;      ///< per sample
};

namespace detail {
template <class T>
struct residual_traits : std::false_type {};
template <class... L>
struct residual_traits<residual_block<L...>> : std::true_type {};

template <class In, class... L>
void collect_metrics(chain<L...>& c, const std::string& prefix, std::size_t steps,
                     network_metrics& m, bool& first) {
    using list = typename shapes<network_input<In>, In, L...>::type;
    c.for_each([&]<std::size_t I>(auto& l) {
        using layer_t = std::decay_t<decltype(l)>;
        using in_t = std::tuple_element_t<I, list>;
        const std::string name = prefix + std::to_string(I) + "." + layer_t::kind;
        if constexpr (residual_traits<layer_t>::value) {
            collect_metrics<in_t>(l.body(), name + ".", steps, m, first);
        } else {
            layer_metrics lm;
            lm.name = name;
            lm.kind = layer_t::kind;
            lm.macs_per_step = layer_t::template macs<in_t>;
            l.visit_parameters([&](const char*, parameter& p) { lm.parameters += p.size(); });
            const auto& k = c.counters()[I];
            if (k.in_total > 0) lm.input_rate = k.in_nonzero / k.in_total;
            if (k.out_total > 0) {
                lm.positive_rate = k.out_pos / k.out_total;
                lm.negative_rate = k.out_neg / k.out_total;
                m.spikes += (k.out_pos + k.out_neg) / k.samples;
            }
            if constexpr (synaptic_layer<layer_t>) {
                if (first) {
                    const double runs = k.in_steps > 0 ? k.in_steps : double(steps);
                    m.macs += double(lm.macs_per_step) * runs;
                    m.macs_all_steps += double(lm.macs_per_step * steps);
                    first = false;
                } else {
                    m.sops += double(lm.macs_per_step * steps) * lm.input_rate;
                }
            }
            m.parameters += lm.parameters;
            m.layers.push_back(std::move(lm));
        }
    });
}
} // namespace detail

/// Metrics of the forwards since the last net.reset_metrics(), for T = steps.
template <shape_type In, class... L>
network_metrics metrics(network<In, L...>& net, std::size_t steps, const energy_model& e = {}) {
    network_metrics m;
    m.steps = steps;
    bool first = true;
    detail::collect_metrics<In>(net.body(), "", steps, m, first);
    m.energy_pj = m.macs * e.pj_per_mac + m.sops * e.pj_per_sop + m.spikes * e.pj_per_spike;
    return m;
}

} // namespace spinfire::nn
