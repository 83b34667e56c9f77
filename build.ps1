#!/usr/bin/env pwsh
# Build entry point. On Linux: dotnet tool restore; dotnet pwsh ./build.ps1 <target>
#   build    restore and build everything, warnings as errors
#   test     unit and end-to-end tests (what CI runs)
#   bench    LoadBalancer.Bench in Release; pass its arguments after -BenchArgs, e.g. -BenchArgs load,--seconds,10
#   publish  a self-contained lb for linux-x64 into artifacts/publish; -Aot: Native AOT (one native file, no JIT;
#            needs clang and zlib1g-dev); otherwise the JIT runtime with dynamic PGO
#   install  publish (honours -Aot), then install the binary under -Prefix (default /usr/local), lb.toml into
#            -ConfigDir (kept if present) and deploy/lb.service into /etc/systemd/system; needs root
#   fuzz     one LoadBalancer.Fuzz target under libFuzzer: fuzz -Target NAME -Seconds N (names: fuzz -Target list;
#            needs clang and libclang-rt-14-dev); new inputs in artifacts/fuzz/corpus, findings in artifacts/fuzz/findings
param(
    [Parameter(Position = 0)]
    [ValidateSet('build', 'test', 'bench', 'publish', 'install', 'fuzz')]
    [string] $Task = 'build',
    # The fuzz target's name. Before `fuzz` existed this named the task; `-Target test` still means the test task.
    [string] $Target = '',
    [int] $Seconds = 60,
    [string] $Configuration = 'Release',
    [string[]] $BenchArgs = @(),
    [string] $Prefix = '/usr/local',
    [string] $ConfigDir = '/etc/lb',
    [switch] $Aot
)

$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
if (-not $PSBoundParameters.ContainsKey('Task') -and $Target -in @('build', 'test', 'bench', 'publish', 'install')) {
    $Task = $Target
}

function Invoke-Dotnet {
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE" }
}

function Invoke-Publish {
    # A fresh directory: a JIT publish leaves lb.dll and friends that an AOT publish would not overwrite.
    if (Test-Path artifacts/publish) { Remove-Item -Recurse -Force artifacts/publish }
    $publishArgs = @('publish', 'LoadBalancer.Host/LoadBalancer.Host.csproj', '-c', 'Release', '-r', 'linux-x64', '--self-contained', 'true', '-o', 'artifacts/publish')
    if ($Aot) {
        $publishArgs += '-p:PublishAot=true'
        # ILC links with `clang`; Debian ships it versioned (clang-14 on Debian 12) without the plain name.
        if (-not (Get-Command clang -ErrorAction SilentlyContinue)) {
            $versioned = Get-Command 'clang-*' -ErrorAction SilentlyContinue | Where-Object { $_.Name -match '^clang-\d+$' } | Sort-Object { [int]($_.Name -replace 'clang-', '') } -Descending | Select-Object -First 1
            if ($versioned) { $publishArgs += "-p:CppCompilerAndLinker=$($versioned.Name)" }
        }
    }
    Invoke-Dotnet @publishArgs
    Write-Host "published: artifacts/publish/lb$(if ($Aot) { ' (Native AOT)' })"
}

switch ($Task) {
    'build' { Invoke-Dotnet build LoadBalancer.sln -c $Configuration }
    'test' { Invoke-Dotnet test LoadBalancer.sln -c $Configuration }
    'bench' { Invoke-Dotnet run -c Release --project LoadBalancer.Bench -- @BenchArgs }
    'publish' { Invoke-Publish }
    'fuzz' {
        if (-not $Target) { throw 'fuzz needs -Target NAME (or -Target list)' }
        $fuzzArgs = if ($Target -eq 'list') { @('list') } else { @($Target, $Seconds) }
        & bash LoadBalancer.Fuzz/fuzz.sh @fuzzArgs
        if ($LASTEXITCODE -ne 0) { throw "fuzz $Target failed with exit code $LASTEXITCODE (see artifacts/fuzz/findings/$Target)" }
    }
    'install' {
        Invoke-Publish
        New-Item -ItemType Directory -Force -Path "$Prefix/lib/lb", "$Prefix/bin", $ConfigDir | Out-Null
        Copy-Item -Recurse -Force artifacts/publish/* "$Prefix/lib/lb/"
        Copy-Item -Force README.md "$Prefix/lib/lb/README.md"
        if (-not (Test-Path "$Prefix/bin/lb")) { New-Item -ItemType SymbolicLink -Path "$Prefix/bin/lb" -Target "$Prefix/lib/lb/lb" | Out-Null }
        if (-not (Test-Path "$ConfigDir/lb.toml")) { Copy-Item lb.toml "$ConfigDir/lb.toml" }
        # The unit names /usr/local/bin/lb and /etc/lb/lb.toml; other locations are rewritten into the installed copy.
        $unit = (Get-Content -Raw deploy/lb.service).Replace('/usr/local/bin/lb', "$Prefix/bin/lb").Replace('/usr/local/lib/lb', "$Prefix/lib/lb").Replace('/etc/lb/lb.toml', "$ConfigDir/lb.toml")
        Set-Content -NoNewline -Path /etc/systemd/system/lb.service -Value $unit
        Write-Host "installed $Prefix/bin/lb, $ConfigDir/lb.toml and /etc/systemd/system/lb.service"
        Write-Host "next: systemctl daemon-reload && systemctl enable --now lb"
    }
}
