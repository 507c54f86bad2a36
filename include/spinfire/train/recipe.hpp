#pragma once
// The default recipes (snn.md section 2), as run_options defaults per dataset.
//
// CIFAR-10 (CPU time-to-accuracy): T = 2, direct encoding, BN, triangle surrogate,
// cross-entropy on the T-averaged output with label smoothing 0.1, SGD Nesterov momentum 0.9,
// peak lr 0.1 after a 15 % linear warm-up then cosine to 0, weight decay 5e-4 on weights
// only, batch 128, random crop (4-pixel zero padding) + horizontal flip, normalisation by
// the CIFAR-10 channel statistics.
//
// CIFAR10-DVS: T = 10 frames of 48 x 48 (2 polarities), TET loss, AdamW lr 1e-3 (weight
// decay 1e-2 decoupled), cosine, batch 32, flip + shifts up to 5 pixels.
#include "spinfire/train/options.hpp"

namespace spinfire::train {

inline run_options cifar10_recipe() {
    run_options o = base_options();
    o.steps = 2;
    o.epochs = 10;
    o.batch = 128;
    o.lr = 0.1;
    o.optimizer = "sgd";
    o.loss = "ce";
    o.momentum = 0.9;
    o.weight_decay = 5e-4;
    o.label_smoothing = 0.1;
    o.warmup = 0.15;
    return o;
}

inline run_options cifar10_dvs_recipe() {
    run_options o = base_options();
    o.steps = 10;
    o.epochs = 30;
    o.batch = 32;
    o.lr = 1e-3;
    o.optimizer = "adamw";
    o.loss = "tet";
    o.weight_decay = 1e-2;
    o.label_smoothing = 0;
    o.warmup = 0.05;
    o.eval_batch = 50;
    return o;
}

} // namespace spinfire::train
