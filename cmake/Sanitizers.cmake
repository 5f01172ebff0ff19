# INTAKE_SANITIZE=ON builds everything with AddressSanitizer and UndefinedBehaviorSanitizer,
# failing on the first UB report.
option(INTAKE_SANITIZE "Build with ASan + UBSan" OFF)
if(INTAKE_SANITIZE)
  add_compile_options(-O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
