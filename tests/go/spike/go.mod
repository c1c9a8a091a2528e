module madvtrace.test/spike

go 1.19
