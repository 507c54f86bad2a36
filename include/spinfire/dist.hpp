#pragma once
// spinfire::dist: MPI (only with -DSPINFIRE_WITH_MPI=ON; link spinfire::dist).
#include "spinfire/dist/data_parallel.hpp"
#include "spinfire/dist/mpi.hpp"
#include "spinfire/dist/pack.hpp"
#include "spinfire/dist/schedule.hpp"
#include "spinfire/dist/sweep.hpp"
