// Compiles tests/pch.hpp into the precompiled header every test executable reuses.
