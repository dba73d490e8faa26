"""Language judges: Python 3, C, C++, Java, JavaScript (Node.js) and Rust.

These define how a submission is compiled and run; the judge worker executes the commands in
its sandbox. ``{files}`` is the list of source files, ``{main}`` the entry point (class or file),
``{memory_mb}`` the memory limit in MiB (for runtimes that cap their heap themselves).
"""

from __future__ import annotations

from server.components import Language
from server.hooks import hookimpl

__all__ = ["C", "CPP", "Java", "JavaScript", "Python3", "Rust"]


class Python3(Language):
    name = "python3"
    title = "Python 3"
    extensions = (".py",)
    source_file = "main.py"
    compile_command = ("python3", "-m", "py_compile", "{main}")
    run_command = ("python3", "{main}")
    version_command = ("python3", "--version")
    image = "podium-judge-python3"
    time_multiplier = 2.0
    selftest_source = "import sys\nfor line in sys.stdin:\n    print(line.strip())\n"


class C(Language):
    name = "c"
    title = "C (GCC)"
    extensions = (".c",)
    source_file = "main.c"
    compile_command = ("gcc", "-std=gnu17", "-O2", "-pipe", "-static", "-o", "main", "{files}",
                       "-lm")
    run_command = ("./main",)
    version_command = ("gcc", "--version")
    image = "podium-judge-c"
    selftest_source = (
        "#include <stdio.h>\nint main(void){char b[4096];"
        "while(fgets(b,sizeof b,stdin))fputs(b,stdout);return 0;}\n"
    )


class CPP(Language):
    name = "cpp"
    title = "C++ (G++)"
    extensions = (".cpp", ".cc", ".cxx")
    source_file = "main.cpp"
    compile_command = ("g++", "-std=gnu++20", "-O2", "-pipe", "-static", "-o", "main", "{files}")
    run_command = ("./main",)
    version_command = ("g++", "--version")
    image = "podium-judge-cpp"
    selftest_source = (
        "#include <iostream>\n#include <string>\nint main(){std::string s;"
        "while(std::getline(std::cin,s))std::cout<<s<<'\\n';}\n"
    )


class Java(Language):
    name = "java"
    title = "Java"
    extensions = (".java",)
    source_file = "Main.java"
    compile_command = ("javac", "-encoding", "UTF-8", "-d", ".", "{files}")
    run_command = ("java", "-Xss64m", "-Xmx{memory_mb}m", "{main}")
    version_command = ("java", "-version")
    image = "podium-judge-java"
    time_multiplier = 1.5
    reserves_address_space = True
    selftest_source = (
        "import java.io.*;\npublic class Main{public static void main(String[] a)"
        "throws IOException{BufferedReader r=new BufferedReader(new InputStreamReader(System.in));"
        "String s;while((s=r.readLine())!=null)System.out.println(s);}}\n"
    )


class JavaScript(Language):
    """Node.js. V8 reserves far more address space than it touches (and every thread's stack
    is as large as RLIMIT_STACK), so it runs without RLIMIT_AS: ``--max-old-space-size`` caps
    its heap and peak resident memory bounds the rest. ``--stack-size`` (KiB) lets deep
    recursion use the 64 MiB Java gets; V8 throws RangeError before the real stack ends."""

    name = "javascript"
    title = "JavaScript (Node.js)"
    extensions = (".js",)
    source_file = "main.js"
    compile_command = ("node", "--check", "{main}")
    run_command = ("node", "--max-old-space-size={memory_mb}", "--stack-size=65500", "{main}")
    version_command = ("node", "--version")
    image = "podium-judge-node"
    time_multiplier = 1.5
    reserves_address_space = True
    selftest_source = (
        "const rl = require('readline').createInterface({ input: process.stdin });\n"
        "rl.on('line', (line) => console.log(line));\n"
    )


class Rust(Language):
    """rustc takes one crate root: ``{main}`` (the first file, or the entry point), whose
    ``mod`` items pull in the other files."""

    name = "rust"
    title = "Rust"
    extensions = (".rs",)
    source_file = "main.rs"
    compile_command = ("rustc", "--edition", "2021", "-O", "-o", "main", "{main}")
    run_command = ("./main",)
    version_command = ("rustc", "--version")
    image = "podium-judge-rust"
    selftest_source = (
        "use std::io::{self, BufRead, BufWriter, Write};\n"
        "fn main() {\n"
        "    let out = io::stdout();\n"
        "    let mut out = BufWriter::new(out.lock());\n"
        "    for line in io::stdin().lock().lines() {\n"
        "        writeln!(out, \"{}\", line.unwrap()).unwrap();\n"
        "    }\n"
        "}\n"
    )


@hookimpl
def podium_languages() -> list[Language]:
    return [Python3(), C(), CPP(), Java(), JavaScript(), Rust()]
