// Precompiled header shared by every test executable: the heavy dependency headers only.
#pragma once
#include <doctest/doctest.h>
#include "spinfire/core/xtensor.hpp"
#include <nlohmann/json.hpp>
#include <oneapi/tbb/parallel_for.h>
#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>
