# fish completion for skiff: asks skiff itself (urfave/cli's --generate-bash-completion)
function __skiff_complete
    set -l args (commandline -opc)
    set -l cur (commandline -ct)
    if string match -q -- '-*' $cur
        $args $cur --generate-bash-completion 2>/dev/null
    else
        $args --generate-bash-completion 2>/dev/null
    end
end
complete -c skiff -f -a '(__skiff_complete)'
