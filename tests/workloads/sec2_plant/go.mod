module sec2_plant

go 1.19
