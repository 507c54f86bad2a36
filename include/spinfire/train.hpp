#pragma once
// Group umbrella: run options and recipes, networks, the trainer (with an ANN teacher),
// evaluation, export and model files.
#include "spinfire/train/device_loop.hpp"
#include "spinfire/train/evaluate.hpp"
#include "spinfire/train/export.hpp"
#include "spinfire/train/model_file.hpp"
#include "spinfire/train/networks.hpp"
#include "spinfire/train/neuron_choice.hpp"
#include "spinfire/train/options.hpp"
#include "spinfire/train/recipe.hpp"
#include "spinfire/train/trainer.hpp"
#include "spinfire/train/with_teacher.hpp"
