// stb_image's decoder for fuzz_image, compiled here (instrumented) rather than taken from
// Debian's libstb.so, whose definitions these interpose: coverage and ASan reach inside it.
// Built without UBSan's shift check: Debian 12's stb (git 2022-09-08) shifts a 32-bit value by
// 32 in its JPEG bit reader on corrupt entropy-coded data (stb_image.h:2065; found by
// fuzz_image, reproducer regressions/image/jpeg-entropy-data-shift-by-32.jpg). That is
// undefined in C++ but a masked shift in the x86 code libstb.so has (garbage bits from data that
// is garbage already), and no check before decoding can see it coming.
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
