# Cross-compiling for ARM64 Linux with Debian's gcc-aarch64-linux-gnu (used by test-aarch64.sh).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# Run the tests under qemu-user: ctest uses this emulator for every test executable.
find_program(NPC_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(NPC_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${NPC_QEMU_AARCH64} -L /usr/aarch64-linux-gnu)
endif()
