"""``clipcop report``: pictures and one self-contained HTML page from the files a finished run left."""
