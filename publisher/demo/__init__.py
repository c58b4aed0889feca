"""Sample studies for the demo (`publisher serve --demo`, `make run`) and the tests: several
patients and character sets, CT/MR/CR/US/SR/PDF; `ct` makes realistic noisy CT volumes."""
