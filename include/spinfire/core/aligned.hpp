#pragma once
// Cache-line aligned contiguous storage for structure-of-arrays state.
#include <cstddef>
#include <new>
#include <vector>

#include "spinfire/config.hpp"

namespace spinfire {

template <class T, std::size_t Align = SPINFIRE_ALIGNMENT>
struct aligned_allocator {
    using value_type = T;
    template <class U>
    struct rebind {
        using other = aligned_allocator<U, Align>;
    };
    aligned_allocator() = default;
    template <class U>
    aligned_allocator(const aligned_allocator<U, Align>&) noexcept {}
    T* allocate(std::size_t n) {
        return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(Align)));
    }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t(Align)); }
    template <class U>
    bool operator==(const aligned_allocator<U, Align>&) const noexcept {
        return true;
    }
};

/// std::vector whose data() is aligned to SPINFIRE_ALIGNMENT bytes.
template <class T>
using aligned_vector = std::vector<T, aligned_allocator<T>>;

} // namespace spinfire
