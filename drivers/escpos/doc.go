// Package escpos reads what an ESC/POS receipt printer would print from
// the bytes a till sends it: the text as the paper shows it, cut into
// jobs, every command skipped with its parameters.
//
// The Decoder is a state machine fed in chunks of any size (a TCP read
// can end in the middle of a command or of an image), so that print
// capture reads a job while its bytes are being passed on to the printer.
// It never fails: a command it does not know is counted on the job (and
// the job is then not trusted to be read into a ticket) and decoding goes
// on after the command's first two bytes.
//
// What it follows (Epson's ESC/POS reference):
//
//   - text, in the code page selected by ESC t (cp437, cp850, cp852,
//     cp858, cp860, cp863, cp865, cp866, Windows-1252, ISO 8859-15),
//     LF ending a line, CR ignored, HT as spaces, ESC d n feeding n lines;
//   - jobs ending at a cut (GS V, ESC i, ESC m), at ESC @ after printed
//     text, or at the end of the connection (Decoder.Close);
//   - parameters skipped by their lengths: bit images (ESC *), raster
//     images (GS v 0), downloaded and NV images (GS *, FS p, FS q), barcodes
//     (GS k, both forms), every GS ( x, ESC ( x and FS ( x function with its
//     pL pH length (QR codes and graphics are GS ( k and GS ( L), GS 8 L
//     with its 32-bit length, user-defined characters (ESC &), and the
//     fixed-length commands of styles, sizes, alignment, spacing, drawer,
//     status (DLE EOT, DLE ENQ, DLE DC4, GS r, GS a).
package escpos
