# Cross-compiling bit_ttt.dll for 64-bit Windows on Debian with MinGW-w64 (packages g++-mingw-w64-x86-64-posix,
# gcc-mingw-w64-x86-64-posix): cmake -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake ...
# The "posix" flavour of the compilers has std::thread (winpthreads), which the library's thread pool needs; the
# runtime (libstdc++, libgcc, winpthread) is linked into the DLL (TTT_STATIC_RUNTIME), so it needs only system DLLs.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(TTT_MINGW_TRIPLET x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${TTT_MINGW_TRIPLET}-gcc-posix)
set(CMAKE_CXX_COMPILER ${TTT_MINGW_TRIPLET}-g++-posix)
set(CMAKE_RC_COMPILER ${TTT_MINGW_TRIPLET}-windres)
set(CMAKE_FIND_ROOT_PATH /usr/${TTT_MINGW_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# Programs built here (tests, examples) run under Wine.
set(CMAKE_CROSSCOMPILING_EMULATOR wine)
# Test and example programs carry their own C/C++ runtime too, so Wine needs no MinGW DLLs beside them.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
