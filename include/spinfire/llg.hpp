#pragma once
// llg/: macrospin Landau-Lifshitz-Gilbert physics composed from terms, its steppers (a type
// parameter: rk4, heun, dopri5 or a user's), drives, observers and SIMD/TBB ensembles.
#include "spinfire/llg/adaptive.hpp"
#include "spinfire/llg/concepts.hpp"
#include "spinfire/llg/drive.hpp"
#include "spinfire/llg/ensemble.hpp"
#include "spinfire/llg/field_terms.hpp"
#include "spinfire/llg/observer.hpp"
#include "spinfire/llg/observers.hpp"
#include "spinfire/llg/pack.hpp"
#include "spinfire/llg/run_options.hpp"
#include "spinfire/llg/stepper.hpp"
#include "spinfire/llg/steppers.hpp"
#include "spinfire/llg/system.hpp"
#include "spinfire/llg/thermal.hpp"
#include "spinfire/llg/torques.hpp"
