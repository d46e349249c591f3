# cmake -DOUT=FILE -DEXE=PROGRAM -DARGS="a;b" -P run-to-file.cmake
# Runs PROGRAM ARGS (argv, no shell) and writes its standard output to FILE;
# fails the build when the program fails or prints nothing. The man pages and
# shell completions are generated this way by the binary just built.
execute_process(COMMAND ${EXE} ${ARGS} OUTPUT_FILE ${OUT}.tmp RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE ${OUT}.tmp)
  message(FATAL_ERROR "${EXE} ${ARGS}: exit ${rc}")
endif()
file(SIZE ${OUT}.tmp size)
if(size EQUAL 0)
  file(REMOVE ${OUT}.tmp)
  message(FATAL_ERROR "${EXE} ${ARGS}: printed nothing")
endif()
file(RENAME ${OUT}.tmp ${OUT})
