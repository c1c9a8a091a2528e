// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* placeholder translation unit, replaced as util/ fills */
int mt_util__placeholder;
