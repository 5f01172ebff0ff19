# intake_warnings(target): strict warnings on our own code only (third-party headers are SYSTEM).
function(intake_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror)
endfunction()
