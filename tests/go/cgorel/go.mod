module madvtrace.test/cgorel

go 1.19
