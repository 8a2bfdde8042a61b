# bpf_object(NAME SOURCE [HEADERS_FROM dirs...])
#
# Compiles bpf/NAME.bpf.c with clang for the BPF target (warnings are errors),
# tracks the headers it includes through a depfile, generates its skeleton
# with `bpftool gen skeleton`, and exposes an interface library NAME_skel whose
# users include "NAME.skel.h". The object is embedded in the skeleton, so no
# binary ever loads a .o from a path at run time.
set(SMI_BPF_INCLUDE_DIRS
  ${PROJECT_SOURCE_DIR}/bpf
  ${PROJECT_SOURCE_DIR}/bpf/vmlinux)
set(SMI_BPF_CFLAGS -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror
  -Wno-unused-function -mcpu=v3)

function(bpf_object name source)
  set(src ${CMAKE_CURRENT_SOURCE_DIR}/${source})
  set(obj ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.o)
  set(dep ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.d)
  set(skel ${CMAKE_CURRENT_BINARY_DIR}/${name}.skel.h)
  set(incs)
  foreach(dir ${SMI_BPF_INCLUDE_DIRS})
    list(APPEND incs -I${dir})
  endforeach()
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${CLANG} ${SMI_BPF_CFLAGS} ${incs} -MD -MF ${dep} -MT ${obj} -c ${src} -o ${obj}
    DEPENDS ${src}
    DEPFILE ${dep}
    COMMENT "BPF ${name}.bpf.c"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
    DEPENDS ${obj}
    COMMENT "skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skel_gen DEPENDS ${skel})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${CMAKE_CURRENT_BINARY_DIR})
  target_link_libraries(${name}_skel INTERFACE PkgConfig::LIBBPF PkgConfig::LIBELF PkgConfig::ZLIB)
endfunction()
