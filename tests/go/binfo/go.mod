module madvtrace.test/binfo

go 1.19
